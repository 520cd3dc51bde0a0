# Texts of the account area (en).
account-second-factor-title = Second factor
account-second-factor-intro = Enter the 6-digit code from your authenticator app, or one of your recovery codes.
account-second-factor-code = Code
account-second-factor-submit = Confirm
account-second-factor-restart = Start again with e-mail and password
account-second-factor-expired = Your login has expired. Please enter your e-mail and password again.
account-second-factor-wrong = The code is wrong or was already used.
