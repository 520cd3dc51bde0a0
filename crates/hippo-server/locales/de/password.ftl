# Texts of the password area (de): reset and lockout.
