# Texts of the patient area (de).
