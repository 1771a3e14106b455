import SpoolRunner; print(SpoolRunnerVersion.string)
