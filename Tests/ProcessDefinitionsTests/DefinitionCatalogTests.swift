import Foundation
import ProcessDefinitions
import Testing

@Suite("Definition catalog")
struct DefinitionCatalogTests {
    static let valid = "tasks:\n  - name: a\n    run: [echo]\n"

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func loadsTheValidFixturesDirectory() {
        let catalog = DefinitionCatalog.load(directory: "\(Fixtures.directory)/valid")
        #expect(catalog.errors.isEmpty, "\(catalog.errors)")
        #expect(
            catalog.definitions.keys.sorted()
                == Fixtures.files("valid").map(DefinitionLoader.processType(ofFile:)).sorted())
    }

    @Test func loadsOnlyDefinitionFilesOfTheDirectoryItself() throws {
        try withTemporaryDirectory { directory in
            try Self.write(Self.valid, to: "\(directory)/good.yaml")
            try Self.write(Self.valid, to: "\(directory)/other.yml")
            try Self.write(Self.valid, to: "\(directory)/.hidden.yaml")
            try Self.write(Self.valid, to: "\(directory)/notes.txt")
            try FileManager.default.createDirectory(atPath: "\(directory)/nested", withIntermediateDirectories: false)
            try Self.write(Self.valid, to: "\(directory)/nested/deep.yaml")
            try FileManager.default.createDirectory(atPath: "\(directory)/dir.yaml", withIntermediateDirectories: false)
            let catalog = DefinitionCatalog.load(directory: directory)
            #expect(catalog.errors.isEmpty, "\(catalog.errors)")
            #expect(catalog.definitions.keys.sorted() == ["good", "other"])
            #expect(catalog.definitions["good"]?.baseDirectory == directory)
        }
    }

    @Test func oneBrokenFileDoesNotHideTheOthers() throws {
        try withTemporaryDirectory { directory in
            try Self.write(Self.valid, to: "\(directory)/b_good.yaml")
            try Self.write("tasks:\n  - name: a\n    sleep: 5\n", to: "\(directory)/a_broken.yaml")
            try Self.write("tasks: {}\n", to: "\(directory)/c_broken.yaml")
            let catalog = DefinitionCatalog.load(directory: directory)
            #expect(catalog.definitions.keys.sorted() == ["b_good"])
            #expect(catalog.errors.map(\.code) == [.invalidDuration, .invalidValue])
            #expect(
                catalog.errors.map { ($0.file as NSString).lastPathComponent } == ["a_broken.yaml", "c_broken.yaml"])
        }
    }

    @Test func twoFilesForOneTypeAreAnError() throws {
        try withTemporaryDirectory { directory in
            try Self.write(Self.valid, to: "\(directory)/twice.yaml")
            try Self.write(Self.valid, to: "\(directory)/twice.yml")
            let catalog = DefinitionCatalog.load(directory: directory)
            #expect(catalog.definitions.isEmpty)
            #expect(catalog.errors.count == 1)
            #expect(catalog.errors.first?.code == .duplicateName)
            #expect(catalog.errors.first?.message.contains("twice.yaml, twice.yml") == true)
        }
    }

    @Test func aMissingDirectoryIsOneError() {
        let catalog = DefinitionCatalog.load(directory: "/nonexistent/definitions")
        #expect(catalog.definitions.isEmpty)
        #expect(catalog.errors.count == 1)
        #expect(catalog.errors.first?.code == .unreadableFile)
        #expect(catalog.errors.first?.file == "/nonexistent/definitions")
    }

    @Test func processTypeComesFromTheFileName() {
        #expect(DefinitionLoader.processType(ofFile: "/a/b/premium_subscription.yaml") == "premium_subscription")
        #expect(DefinitionLoader.processType(ofFile: "nightly.yml") == "nightly")
        #expect(DefinitionLoader.processType(ofFile: "v1.2.yaml") == "v1.2")
    }
}
