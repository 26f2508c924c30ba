"""Loading: manifest text (YAML or JSON) into data plus a source map."""
