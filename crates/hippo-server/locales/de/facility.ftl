# Texts of the facility area (de).
