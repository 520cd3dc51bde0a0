# Texts of the mail area (de).
