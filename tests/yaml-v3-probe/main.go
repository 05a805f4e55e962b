// To add a case to tests/data/sops-comments.json, add {"yaml": "...", "sops": null} and record what yaml.v3 and
// sops' store make of it: bash tests/yaml-v3-probe/check.sh --write
//
// The tree sops' YAML store builds from a YAML file: yaml.v3's nodes, with their head, line and foot comments
// turned into comment items of the branch they sit in, or the error sops gives. A branch is {"map": [...]} of
// {"k": key, "v": value} and {"#": comment}; a list is {"seq": [...]} of values and {"#": comment}; a value is
// its text as sops' ToBytes writes it, or null. A document is the list of its top-level branch's items.
//
//	probe < cases.json            {name: YAML text} in, {name: {"docs": [...]} or {"error": "..."}} out
//	probe check FILE              FILE is {name: {"yaml": text, "sops": tree}}: exit 1 when a tree differs
//	probe write FILE              records each case's tree in FILE
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

type item = map[string]interface{}

// comments splits a yaml.v3 comment into sops' comment items: one per non-empty line, without the '#'.
func comments(text string) []interface{} {
	var out []interface{}
	if text == "" {
		return out
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			out = append(out, item{"#": line[1:]})
		}
	}
	return out
}

func leaf(node *yaml.Node) (interface{}, error) {
	var v interface{}
	// sops' store ignores a scalar that does not decode (`!!int abc` past the first document, which alone is
	// decoded whole first): the value is null.
	if err := node.Decode(&v); err != nil {
		return nil, nil
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		if v {
			return "True", nil
		}
		return "False", nil
	case time.Time:
		b, err := v.MarshalText()
		return string(b), err
	default:
		return nil, fmt.Errorf("a value sops cannot walk: %T", v)
	}
}

// value is the tree value of a node; withComments adds the node's own head, line and foot comments (a
// collection reached as a mapping value or through an alias, where nobody else took them).
func value(node *yaml.Node, withComments bool) (interface{}, error) {
	switch node.Kind {
	case yaml.SequenceNode:
		list := []interface{}{}
		if withComments {
			list = append(list, comments(node.HeadComment)...)
			list = append(list, comments(node.LineComment)...)
		}
		for _, entry := range node.Content {
			list = append(list, comments(entry.HeadComment)...)
			list = append(list, comments(entry.LineComment)...)
			v, err := value(entry, false)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			list = append(list, comments(entry.FootComment)...)
		}
		if withComments {
			list = append(list, comments(node.FootComment)...)
		}
		return item{"seq": list}, nil
	case yaml.MappingNode:
		branch, err := mapping(node, withComments)
		if err != nil {
			return nil, err
		}
		return item{"map": branch}, nil
	case yaml.ScalarNode:
		return leaf(node)
	case yaml.AliasNode:
		return value(node.Alias, true)
	}
	return nil, fmt.Errorf("unexpected node kind %d", node.Kind)
}

func mapping(node *yaml.Node, withComments bool) ([]interface{}, error) {
	branch := []interface{}{}
	if withComments {
		branch = append(branch, comments(node.HeadComment)...)
		branch = append(branch, comments(node.LineComment)...)
	}
	switch node.Kind {
	case yaml.DocumentNode:
		for _, child := range node.Content {
			inner, err := mapping(child, true)
			if err != nil {
				return nil, err
			}
			branch = append(branch, inner...)
		}
	case yaml.SequenceNode:
		return nil, fmt.Errorf("YAML documents that are sequences are not supported")
	case yaml.ScalarNode:
		if node.ShortTag() == "!!null" {
			return branch, nil
		}
		return nil, fmt.Errorf("YAML documents that are values are not supported")
	case yaml.AliasNode:
		inner, err := mapping(node.Alias, true)
		if err != nil {
			return nil, err
		}
		branch = append(branch, inner...)
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, val := node.Content[i], node.Content[i+1]
			branch = append(branch, comments(key.HeadComment)...)
			branch = append(branch, comments(key.LineComment)...)
			scalarish := val.Kind == yaml.ScalarNode || val.Kind == yaml.AliasNode
			if scalarish {
				branch = append(branch, comments(val.HeadComment)...)
				branch = append(branch, comments(val.LineComment)...)
			}
			var k interface{}
			_ = key.Decode(&k) // ignored as sops ignores it: the key is then null, which sops refuses when it walks
			v, err := value(val, !scalarish)
			if err != nil {
				return nil, err
			}
			entry := item{"v": v}
			if s, ok := k.(string); ok {
				entry["k"] = s
			} else {
				entry["k"] = map[string]string{"nonstring": fmt.Sprintf("%T %v", k, k)}
			}
			branch = append(branch, entry)
			if scalarish {
				branch = append(branch, comments(val.FootComment)...)
			}
			branch = append(branch, comments(key.FootComment)...)
		}
	}
	if withComments {
		branch = append(branch, comments(node.FootComment)...)
	}
	return branch, nil
}

// load is sops' LoadPlainFile: a duplicate-key check on the first document, then every document's tree.
func load(text string) (result item) {
	defer func() {
		if r := recover(); r != nil {
			result = item{"error": fmt.Sprint(r)}
		}
	}()
	in := []byte(text)
	if len(in) > 0 {
		if err := yaml.NewDecoder(bytes.NewReader(in)).Decode(make(map[string]interface{})); err != nil {
			return item{"error": err.Error()}
		}
	}
	docs := []interface{}{}
	d := yaml.NewDecoder(bytes.NewReader(in))
	for {
		var doc yaml.Node
		err := d.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			return item{"error": err.Error()}
		}
		branch, err := mapping(&doc, true)
		if err != nil {
			return item{"error": err.Error()}
		}
		docs = append(docs, branch)
	}
	return item{"docs": docs}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

func compact(v interface{}) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fail(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

type recorded struct {
	YAML string          `json:"yaml"`
	Sops json.RawMessage `json:"sops"`
}

func main() {
	if len(os.Args) == 1 {
		var cases map[string]string
		if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
			fail(err)
		}
		out := map[string]item{}
		for _, name := range sortedKeys(cases) {
			out[name] = load(cases[name])
		}
		fmt.Println(compact(out))
		return
	}
	if len(os.Args) != 3 || (os.Args[1] != "check" && os.Args[1] != "write") {
		fail(fmt.Errorf("usage: probe [check|write FILE] (or cases on stdin)"))
	}
	text, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	var cases map[string]recorded
	if err := json.Unmarshal(text, &cases); err != nil {
		fail(err)
	}
	var lines []string
	differ := 0
	for _, name := range sortedKeys(cases) {
		c := cases[name]
		tree := compact(load(c.YAML))
		var was interface{}
		_ = json.Unmarshal(c.Sops, &was)
		if compact(was) != tree && os.Args[1] == "check" {
			differ++
			fmt.Fprintf(os.Stderr, "%s:\n  recorded %s\n  yaml.v3  %s\n", name, compact(was), tree)
		}
		lines = append(lines, fmt.Sprintf(" %s: {\n  \"yaml\": %s,\n  \"sops\": %s\n }", compact(name), compact(c.YAML), tree))
	}
	if os.Args[1] == "write" {
		if err := os.WriteFile(os.Args[2], []byte("{\n"+strings.Join(lines, ",\n")+"\n}\n"), 0o644); err != nil {
			fail(err)
		}
		fmt.Printf("%d cases recorded\n", len(cases))
		return
	}
	if differ > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d cases differ from yaml.v3\n", differ, len(cases))
		os.Exit(1)
	}
	fmt.Printf("%d cases agree with yaml.v3\n", len(cases))
}
