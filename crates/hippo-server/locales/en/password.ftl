# Texts of the password area (en): reset and lockout.
password-forgot-link = Forgot your password?
password-forgot-title = Reset your password
password-forgot-intro = Enter the e-mail address of your account. We will send you a link to set a new password.
password-forgot-email = E-mail address
password-forgot-submit = Send link
password-forgot-sent = If an account exists for this address, we have sent a link to it. The link works once, for 30 minutes.
password-back-to-login = Back to the login
password-reset-title = Set a new password
password-reset-intro = Choose a new password with at least 12 characters. All your sessions will be ended; your second factor stays as it is.
password-reset-new = New password
password-reset-repeat = Repeat the new password
password-reset-submit = Set password
password-reset-done = Your password has been changed and all your sessions have been ended. Please log in again.
password-reset-differ = The two passwords differ.
password-reset-too-short = The password must have at least { $min } characters.
password-reset-invalid-token = This link is unknown, has been used or has expired. Please ask for a new one.
# The error text of the reset's own failure code (`invalid_reset_token`):
# kept with the reset's texts, since only this area raises it.
error-invalid_reset_token = This reset link is unknown, has been used or has expired. Please ask for a new one.
