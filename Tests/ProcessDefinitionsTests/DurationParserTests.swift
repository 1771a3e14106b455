import ProcessDefinitions
import Testing

@Suite("Durations")
struct DurationParserTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("0ms", .zero),
        ("0s", .zero),
        ("5s", .seconds(5)),
        ("2m", .seconds(120)),
        ("1h", .seconds(3_600)),
        ("1d", .seconds(86_400)),
        ("90s", .seconds(90)),
        ("007s", .seconds(7)),
    ])
    func parses(text: String, duration: Duration) {
        #expect(DurationParser.parse(text) == duration)
    }

    @Test(arguments: [
        "", "0", "30", "-5s", "+5s", "5 s", " 5s", "5s ", "5S", "1.5s", "s", "ms", "5sec", "5ss", "1h30m", "five s",
        "99999999999999999999d", "999999999999999d",
    ])
    func refuses(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test(arguments: [
        (Duration.milliseconds(1_500), "1.5s"),
        (.milliseconds(250), "250ms"),
        (.zero, "0s"),
        (.seconds(5), "5s"),
        (.seconds(90), "90s"),
        (.seconds(120), "2m"),
        (.seconds(5_400), "90m"),
        (.seconds(3_600), "1h"),
        (.seconds(172_800), "2d"),
        (.microseconds(250), "0.25ms"),
        (.milliseconds(1_234), "1.234s"),
    ])
    func formats(duration: Duration, text: String) {
        #expect(DurationParser.format(duration) == text)
    }

    @Test(arguments: ["250ms", "5s", "2m", "1h", "1d", "90s"])
    func formatReadsBack(text: String) throws {
        let duration = try #require(DurationParser.parse(text))
        #expect(DurationParser.parse(DurationParser.format(duration)) == duration)
    }
}
