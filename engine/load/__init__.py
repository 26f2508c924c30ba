"""Loading: manifest text (YAML or JSON) into data plus a source map, and a file written
for an older version of the language upgraded to the current one (on load, and on disk by
``km-actions migrate``), and the plugin versions and dependency ranges manifests write
(``ranges``: the 1.0 upgrade respells npm ranges, validation and install read them)."""
