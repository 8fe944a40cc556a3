# The staff web app's strings (English). Ids are kebab-case; a variable is
# written { $name }. Translations copy this file to locales/{lang}.ftl.

app-name = tracedesk
skip-to-content = Skip to content
nav-label = Main
signed-in-as = Signed in as { $name } ({ $role })
sign-in = Sign in
sign-out = Sign out
sign-out-everywhere = Sign out everywhere
username = Username
password = Password
continue = Continue
start-again = Start again

totp-title = Second factor
totp-label = 6-digit code from your authenticator app
enrol-title = Set up your second factor
enrol-intro = tracedesk needs a code from an authenticator app at every sign-in.
enrol-show = Show my setup code
enrol-scan = Scan this code with your authenticator app, or type the key.
enrol-key = Key:
enrol-confirm-label = Then enter the 6-digit code it shows

password-title = Change your password
password-rule = At least 15 characters (8 with a second factor). A few unrelated words make a good one.
password-current = Current password
password-new = New password
password-change = Change password

form-expired-title = Form expired
form-expired = This form's security token is missing or wrong. Start again from the sign-in page.
not-found-title = Page not found
not-found = There is no page at this address.

home-title = Home
home-intro = Choose where to work.
nav-home = Home
nav-desk = Tracer desk
nav-floor = Supervisor floor
nav-lists = Line lists
nav-password = Change password

tasks-waiting = { $n ->
    [one] 1 task waiting
   *[other] { $n } tasks waiting
}
