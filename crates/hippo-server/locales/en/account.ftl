# Texts of the account area (en).
