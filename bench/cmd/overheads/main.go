// Command overheads reads `go test -bench` output of the comparison and
// prints a Markdown table per workload: each variant's median time, CPU
// time and allocations, its overhead over plain database/sql, and the cost
// of the query instrumentation alone (a sampled variant minus its parent,
// the segment or span per operation around an untraced database).
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type sample map[string][]float64 // unit → values

func main() {
	runs := map[string]map[string]sample{} // workload → variant → samples
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		workload, variant, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		if runs[workload] == nil {
			runs[workload] = map[string]sample{}
			order = append(order, workload)
		}
		s := runs[workload][variant]
		if s == nil {
			s = sample{}
			runs[workload][variant] = s
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				s[f[i+1]] = append(s[f[i+1]], v)
			}
		}
	}
	for _, w := range order {
		vs := runs[w]
		plain, hasPlain := vs["plain"]
		fmt.Printf("\n### %s\n\n", w)
		if !hasPlain {
			fmt.Println("| variant | ns/op | cpu-ns/op | allocs/op |")
			fmt.Println("|---|---:|---:|---:|")
			for _, v := range sorted(vs) {
				s := vs[v]
				fmt.Printf("| %s | %s | %s | %s |\n", v, num(med(s["ns/op"])), num(med(s["cpu-ns/op"])), num(med(s["allocs/op"])))
			}
			continue
		}
		fmt.Println("| variant | ns/op | cpu-ns/op | allocs/op | overhead ns | overhead cpu-ns | query instrumentation alone: ns / cpu-ns / allocs |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---|")
		for _, v := range sorted(vs) {
			s := vs[v]
			row := fmt.Sprintf("| %s | %s | %s | %s |", v, num(med(s["ns/op"])), num(med(s["cpu-ns/op"])), num(med(s["allocs/op"])))
			if v == "plain" {
				fmt.Println(row + " | | |")
				continue
			}
			row += fmt.Sprintf(" %s | %s |", num(med(s["ns/op"])-med(plain["ns/op"])), num(med(s["cpu-ns/op"])-med(plain["cpu-ns/op"])))
			alone := ""
			if sdk, kind, ok := strings.Cut(v, "/"); ok && kind == "sampled" {
				if p, ok := vs[sdk+"/parent"]; ok {
					alone = fmt.Sprintf(" %s / %s / %s", num(med(s["ns/op"])-med(p["ns/op"])), num(med(s["cpu-ns/op"])-med(p["cpu-ns/op"])), num(med(s["allocs/op"])-med(p["allocs/op"])))
				}
			}
			fmt.Println(row + alone + " |")
		}
	}
}

func sorted(vs map[string]sample) []string {
	var names []string
	for n := range vs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i] == "plain" || names[j] == "plain" {
			return names[i] == "plain"
		}
		return names[i] < names[j]
	})
	return names
}

func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func num(f float64) string {
	switch {
	case f >= 1e6 || f <= -1e6:
		return strconv.FormatFloat(f/1e3, 'f', 0, 64) + "k"
	case f >= 100 || f <= -100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	default:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
}
