"""Reading and checking menus.yaml: the strict YAML reader, the schema declared as data, the builder."""
