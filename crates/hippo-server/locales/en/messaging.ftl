# Texts of the messaging area (en).
