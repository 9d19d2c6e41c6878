// Package graphsdk holds the acceptance test proving that the official
// Microsoft Graph Go SDK works against a real Gatehouse server when only its
// base URL and authentication provider are changed. It lives in its own module
// so the SDK's large dependency tree never enters the main module's go.mod.
package graphsdk
