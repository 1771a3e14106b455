extension StoreMigration {
    /// History copied from a SQLite store (`spoolrunner store copy`) may hold finished processes
    /// of a type whose definition file is gone: their definition is unknown (NULL). Every
    /// unfinished process still has one (the copy refuses otherwise): a runner parses it.
    static let v3CopiedHistory = StoreMigration(
        version: 3, name: "definition unknown for history copied from SQLite",
        statements: [
            "ALTER TABLE processes ALTER COLUMN definition_sha256 DROP NOT NULL",
            """
            ALTER TABLE processes ADD CONSTRAINT unfinished_have_a_definition
                CHECK (definition_sha256 IS NOT NULL OR status NOT IN ('pending', 'running'))
            """,
        ])
}
