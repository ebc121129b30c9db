package html

// Script returns the report's script, for the tests to recognise it.
func Script() string { return script }

// CSP returns the report's Content Security Policy.
func CSP() string { return csp }
