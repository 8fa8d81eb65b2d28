// Command config-check loads a compose file as `docker compose config` does, with the Compose
// Specification's own Go loader (github.com/compose-spec/compose-go, the library Docker Compose
// is built on): schema validation, interpolation (${VAR:-default}, ${VAR:?message}), YAML
// anchors and merges, normalisation and the consistency checks (depends_on, volumes, networks).
// It prints the resolved project as JSON, or the loader's error and exit status 1.
//
// Only the given env files are read, never this process's environment, so the result is the same
// on every machine. tests/unit/compose/test_compose_config.py runs it.
//
// Usage: go run . -f ../../docker-compose.yml -env-file ../../.env.example
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type envFiles []string

func (files *envFiles) String() string { return strings.Join(*files, ",") }

func (files *envFiles) Set(path string) error {
	*files = append(*files, path)
	return nil
}

func main() {
	composeFile := flag.String("f", "docker-compose.yml", "the compose file")
	var env envFiles
	flag.Var(&env, "env-file", "an env file to interpolate from (repeatable); none: an empty environment")
	flag.Parse()

	if err := run(*composeFile, env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(composeFile string, env envFiles) error {
	absolute, err := filepath.Abs(composeFile)
	if err != nil {
		return err
	}
	if len(env) == 0 {
		// An explicit empty file: the loader would otherwise pick up a .env beside the compose file.
		empty, err := os.CreateTemp("", "empty-*.env")
		if err != nil {
			return err
		}
		empty.Close()
		defer os.Remove(empty.Name())
		env = envFiles{empty.Name()}
	}
	options, err := cli.NewProjectOptions(
		[]string{absolute},
		cli.WithWorkingDirectory(filepath.Dir(absolute)),
		cli.WithEnvFiles(env...),
		cli.WithDotEnv,
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	model, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	fmt.Println(string(model))
	return nil
}
