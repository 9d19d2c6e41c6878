package postgres

// Classify lets the external tests check the mapping of real errors.
var Classify = classify
