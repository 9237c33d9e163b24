"""Stream schemas (`th.PropertiesList`), one module per group of streams."""
