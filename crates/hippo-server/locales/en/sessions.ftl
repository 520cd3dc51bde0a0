# Texts of the sessions area (en): one's own sessions, expired sessions.
sessions-nav = Sessions
sessions-title = Your sessions
sessions-intro = Where you are logged in right now. End any session you do not recognise, and change your password.
sessions-col-device = Device
sessions-col-network = Network
sessions-col-surface = Access
sessions-col-created = Logged in
sessions-col-last-seen = Last active
sessions-col-action = Action
sessions-current = this session
sessions-surface-web = Browser
sessions-surface-api = API
sessions-revoke = End session on { $device }
sessions-revoke-others = Log out everywhere else
sessions-revoked-notice = The session has been ended.
sessions-expired-notice = Your session has expired. Please log in again.
