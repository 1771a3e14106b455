/// The one version string of this build.
///
/// `spoolrunner --version`, `runner.json`'s `version`, the `runner_sessions` rows and the
/// `spoolrunner_build_info` metric all read it from here, so they can never disagree.
public enum Version {
    public static let current = "0.1.0"
}
