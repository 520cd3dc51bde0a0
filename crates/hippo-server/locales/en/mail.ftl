# Texts of the mail area (en).
