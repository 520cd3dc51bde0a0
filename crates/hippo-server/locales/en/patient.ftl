# Texts of the patient area (en).
