"""Tools for reviewing what families hear: the lint, clinician script, diff, diagram, walk and simulator."""
