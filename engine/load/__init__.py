"""Loading: manifest text (YAML or JSON) into data plus a source map, and a file written
for an older version of the language upgraded to the current one (on load, and on disk by
``km-actions migrate``)."""
