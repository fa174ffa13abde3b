package main

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// flagOf maps the fields internal packages name in their input errors (apimachinery field
// errors on their Input structs) to the flags that set them.
var flagOf = map[string]string{
	"TTL":                   "ttl",
	"Interval":              "interval",
	"Settle":                "settle",
	"WaitForCall":           "wait-for-call",
	"Mutate":                "mutate",
	"Manifests":             "manifests",
	"Chart":                 "chart",
	"ValueFiles":            "values",
	"Registry":              "registry",
	"Context":               "context",
	"Name":                  "cluster",
	"Reuse":                 "reuse",
	"MaxTokenExpiration":    "max-token-expiration",
	"ExtendTokenExpiration": "extend-token-expiration",
}

// asFlagError words an input error in terms of the command line: "--ttl 5m0s: must be at
// least 10m0s". Other errors pass unchanged.
func asFlagError(err error) error {
	var fe *field.Error
	if !errors.As(err, &fe) {
		return err
	}
	name := fe.Field
	if f, ok := flagOf[name]; ok {
		name = f
	}
	switch fe.Type {
	case field.ErrorTypeRequired:
		if fe.Detail == "" {
			return fmt.Errorf("--%s is required", name)
		}
		return fmt.Errorf("--%s is required: %s", name, fe.Detail)
	case field.ErrorTypeForbidden:
		return fmt.Errorf("--%s: %s", name, fe.Detail)
	}
	return fmt.Errorf("--%s %v: %s", name, fe.BadValue, fe.Detail)
}
