package xtap

import "testing"

func BenchmarkEvaluateSmall(b *testing.B) {
	var groups []Target
	var ug []string
	for i := range 20 {
		groups = append(groups, Target{benchID('g', i*7), TargetTypeGroup})
	}
	for i := range 50 {
		ug = append(ug, benchID('g', i*3+1))
	}
	p := Partner{TenantID: fabrikam, B2BCollaborationInbound: &B2BSetting{
		UsersAndGroups: &TargetConfiguration{Allowed, groups},
		Applications:   &TargetConfiguration{Allowed, []Target{{a1, TargetTypeApplication}}}}}
	q := Partner{TenantID: contoso, B2BCollaborationOutbound: &B2BSetting{
		UsersAndGroups: &TargetConfiguration{Blocked, groups[:5]},
		Applications:   &TargetConfiguration{Blocked, []Target{{AllApplications, TargetTypeApplication}}}}}
	w := newWorld(SystemDefault(), []Partner{q}, SystemDefault(), []Partner{p})
	in := w.input(B2BCollaboration, u3, a1)
	in.User.Groups = ug
	in.HomeClaims, in.Required = Claims{MFA: true}, Claims{MFA: true}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = Evaluate(in)
	}
}
