"""Stream schemas, one module per source (`th.PropertiesList`, shared pieces reused)."""
