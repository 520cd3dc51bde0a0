# Texts of the account area (de).
