# Texts of the retrieval area (en).
