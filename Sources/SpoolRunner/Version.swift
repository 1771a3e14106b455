import ProcessDefinitions
public enum SpoolRunnerVersion { public static let string = "0.1.0" }
