package main

// The two os functions Argo CD lets scripts use (os.time, os.date), written here from the Lua 5.1
// manual; registered the way Argo CD's OpenSafeOs registers them (see argocd.go).

import (
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

var safeOsFunctions = map[string]lua.LGFunction{"time": osTime, "date": osDate}

// openSafeOs mirrors Argo CD's call: RegisterModule under the table library's name (a no-op, see argocd.go).
func openSafeOs(state *lua.LState) int {
	state.Push(state.RegisterModule(lua.TabLibName, safeOsFunctions))
	return 1
}

// loadSafeOs is what `require("os")` returns.
func loadSafeOs(state *lua.LState) int {
	state.Push(state.SetFuncs(state.NewTable(), safeOsFunctions))
	return 1
}

func osTime(state *lua.LState) int {
	if state.GetTop() == 0 {
		state.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	fields := state.CheckTable(1)
	field := func(name string, fallback int) int {
		if number, ok := fields.RawGetString(name).(lua.LNumber); ok {
			return int(number)
		}
		return fallback
	}
	when := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	state.Push(lua.LNumber(when.Unix()))
	return 1
}

// osDate supports "*t" (a table) and a few strftime conversions, with "!" for UTC.
func osDate(state *lua.LState) int {
	format := state.OptString(1, "%c")
	when := time.Now()
	if state.GetTop() >= 2 {
		when = time.Unix(state.CheckInt64(2), 0)
	}
	if strings.HasPrefix(format, "!") {
		when, format = when.UTC(), format[1:]
	}
	if strings.HasPrefix(format, "*t") {
		table := state.NewTable()
		for name, value := range map[string]int{
			"year": when.Year(), "month": int(when.Month()), "day": when.Day(), "hour": when.Hour(),
			"min": when.Minute(), "sec": when.Second(), "wday": int(when.Weekday()) + 1, "yday": when.YearDay(),
		} {
			table.RawSetString(name, lua.LNumber(value))
		}
		table.RawSetString("isdst", lua.LFalse)
		state.Push(table)
		return 1
	}
	state.Push(lua.LString(strftime(when, format)))
	return 1
}

var strftimeLayouts = map[byte]string{
	'Y': "2006", 'm': "01", 'd': "02", 'H': "15", 'M': "04", 'S': "05", 'y': "06", 'b': "Jan",
	'B': "January", 'a': "Mon", 'A': "Monday", 'p': "PM", 'Z': "MST", 'z': "-0700",
	'c': "Mon Jan  2 15:04:05 2006", 'x': "01/02/06", 'X': "15:04:05", 'F': "2006-01-02",
}

func strftime(when time.Time, format string) string {
	var out strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			out.WriteByte(format[i])
			continue
		}
		i++
		if layout, ok := strftimeLayouts[format[i]]; ok {
			out.WriteString(when.Format(layout))
		} else {
			out.WriteByte(format[i])
		}
	}
	return out.String()
}
