package metrics

// signInClasses sorts Entra's AADSTS codes that Gatehouse records into the
// kinds of failure an operator watches for: a rise in "credentials" is
// guessing, in "lockout" an attack being held off, in "access_policy" a
// partner's settings changed.
var signInClasses = map[int]string{
	50034:   "credentials", // no such user
	50126:   "credentials", // wrong username or password
	7000215: "credentials", // wrong client secret
	50053:   "lockout",
	50076:   "mfa",     // a second factor is required
	500121:  "mfa",     // the second factor failed
	50057:   "account", // disabled or deleted
	50173:   "session", // the grant was revoked
	700082:  "session", // refresh token past the session policy
	54005:   "session", // a code or refresh token replayed
	500212:  "access_policy",
	500213:  "access_policy",
	50020:   "access_policy", // no account in the tenant
	65001:   "consent",
	65004:   "consent",
	70000:   "client", // an invalid grant
	70019:   "client", // an expired device code
	700016:  "client", // no such application
	7000218: "client", // a confidential client without credentials
}

// SignInOutcome is the outcome label of a sign-in with Entra's error code
// (0 for success): "success", a class of failure, or "other".
func SignInOutcome(code int) string {
	if code == 0 {
		return "success"
	}
	if c, ok := signInClasses[code]; ok {
		return c
	}
	return "other"
}
