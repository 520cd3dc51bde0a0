# Texts of the mail area (en).
mail-new-device-subject = A new login to your Hippo account
mail-new-device-greeting = Hello,
mail-new-device-intro = someone has just logged in to your Hippo account from a device we have not seen before.
mail-new-device-time = Time: { $time }
mail-new-device-device = Device: { $device }
mail-new-device-network = Network: { $network }
mail-new-device-check = If this was you, there is nothing to do. If not, end the session and change your password here:
mail-reset-subject = Reset your Hippo password
mail-reset-greeting = Hello,
mail-reset-intro = to set a new password for your Hippo account, open this link within 30 minutes. It works once.
mail-reset-not-you = If you did not ask for this, ignore this e-mail: your password stays as it is.
