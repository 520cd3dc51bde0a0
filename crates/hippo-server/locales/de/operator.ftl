# Texts of the operator area (de).
