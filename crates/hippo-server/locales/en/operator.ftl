# Texts of the operator area (en).
