package postgres

// Classify lets the external tests check the mapping of real errors.
var Classify = classify

// MigrationSet lets the external tests migrate step by step.
var MigrationSet = migrations

// OpenDB lets the external tests check the sessions a pool opens.
var OpenDB = openDB
