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
// Several -f are merged in order, as `docker compose -f a.yml -f b.yml` merges them (the cluster
// variant, docker-compose.cluster.yml, over the single one).
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
	var composeFiles envFiles
	flag.Var(&composeFiles, "f", "a compose file (repeatable, merged in order); default docker-compose.yml")
	var env envFiles
	flag.Var(&env, "env-file", "an env file to interpolate from (repeatable); none: an empty environment")
	flag.Parse()

	if len(composeFiles) == 0 {
		composeFiles = envFiles{"docker-compose.yml"}
	}
	if err := run(composeFiles, env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(composeFiles envFiles, env envFiles) error {
	var absolute []string
	for _, file := range composeFiles {
		path, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		absolute = append(absolute, path)
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
		absolute,
		cli.WithWorkingDirectory(filepath.Dir(absolute[0])),
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
