/// Facts about this build.
public enum SpoolRunnerInfo {
    public static let version = "0.1.0"
}
