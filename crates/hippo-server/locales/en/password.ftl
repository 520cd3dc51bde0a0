# Texts of the password area (en): reset and lockout.
