# Texts of the messaging area (de).
