package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Settings come from four places; the first that has one wins:
//
//	the command line > GATEHOUSE_<FLAG> > the --config file > the default
//
// A flag set by a place is marked changed, so a later place leaves it be.
func applySettings(cmd *cobra.Command) error {
	fs := cmd.Flags()
	if err := envDefaults(fs); err != nil {
		return err
	}
	path, err := fs.GetString("config")
	if err != nil || path == "" {
		return err
	}
	values, err := readConfigFile(path, settingKeys(cmd.Root()))
	if err != nil {
		return err
	}
	for _, kv := range values {
		f := fs.Lookup(kv.key)
		if f == nil || f.Changed {
			// A setting of another command (one file serves them all), or
			// one given by a stronger place.
			continue
		}
		if err := fs.Set(kv.key, kv.value); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, kv.key, err)
		}
	}
	return nil
}

// envDefaults fills every flag not given on the command line from
// GATEHOUSE_<FLAG> (e.g. --public-url from GATEHOUSE_PUBLIC_URL).
func envDefaults(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	return err
}

// envName is the environment variable of a flag.
func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// notSettings are flags that only make sense on a command line: the file
// itself, help, and the shape of one command's output.
var notSettings = map[string]bool{"config": true, "help": true, "json": true}

// settingKeys are the keys a config file may hold: every flag of every
// command, so one file can serve serve, migrate and the rest.
func settingKeys(root *cobra.Command) map[string]bool {
	keys := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !notSettings[f.Name] {
				keys[f.Name] = true
			}
		})
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) {
			if !notSettings[f.Name] {
				keys[f.Name] = true
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return keys
}

type setting struct{ key, value string }

// maxConfigBytes bounds a config file: settings are a few hundred bytes.
const maxConfigBytes = 1 << 20

// readConfigFile reads a YAML mapping of flag names to single values, in
// the file's order, refusing keys that are no setting (a typo would
// otherwise be silently ignored and the default used).
func readConfigFile(path string, known map[string]bool) ([]setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(raw) > maxConfigBytes {
		return nil, fmt.Errorf("config file %s: larger than %d bytes", path, maxConfigBytes)
	}
	return parseConfig(path, raw, known)
}

func parseConfig(path string, raw []byte, known map[string]bool) ([]setting, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config file %s: one YAML document only", path)
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: line %d: want settings as key: value lines, e.g. addr: 0.0.0.0:8080", path, m.Line)
	}
	var out []setting
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || !known[k.Value]:
			return nil, fmt.Errorf("config file %s: line %d: unknown key %q (the keys are the flags' names, e.g. public-url)", path, k.Line, k.Value)
		case seen[k.Value]:
			return nil, fmt.Errorf("config file %s: line %d: %q given twice", path, k.Line, k.Value)
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			return nil, fmt.Errorf("config file %s: line %d: %q needs one value", path, v.Line, k.Value)
		}
		seen[k.Value] = true
		out = append(out, setting{k.Value, v.Value})
	}
	return out, nil
}
