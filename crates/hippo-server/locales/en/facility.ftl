# Texts of the facility area (en).
