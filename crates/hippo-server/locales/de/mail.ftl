# Texts of the mail area (de).
mail-new-device-subject = Neue Anmeldung bei Ihrem Hippo-Konto
mail-new-device-greeting = Guten Tag,
mail-new-device-intro = soeben hat sich jemand von einem Gerät, das wir noch nicht kennen, bei Ihrem Hippo-Konto angemeldet.
mail-new-device-time = Zeitpunkt: { $time }
mail-new-device-device = Gerät: { $device }
mail-new-device-network = Netz: { $network }
mail-new-device-check = Wenn Sie das waren, ist nichts zu tun. Andernfalls beenden Sie die Sitzung und ändern Sie Ihr Passwort hier:
mail-reset-subject = Hippo-Passwort zurücksetzen
mail-reset-greeting = Guten Tag,
mail-reset-intro = um ein neues Passwort für Ihr Hippo-Konto festzulegen, öffnen Sie bitte innerhalb von 30 Minuten diesen Link. Er funktioniert nur einmal.
mail-reset-not-you = Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.
