package samcheck

import (
	"fmt"
	"strings"
)

// Split splits a shell command line into words as sh would, without
// expansions: single and double quotes and backslashes are removed, a word
// starting with # comments out the rest, and the operators &&, ||, | and ;
// are words of their own. Redirections (> file, 2>&1) are dropped.
func Split(line string) ([]string, error) {
	s := &splitter{line: line}
	for i := 0; i < len(line); i++ {
		c := line[i]
		var err error
		switch {
		case c == ' ' || c == '\t':
			s.end()
		case c == '#' && !s.inWord:
			s.end()
			return s.words, nil
		case c == '\'':
			i, err = s.singleQuoted(i)
		case c == '"':
			i, err = s.doubleQuoted(i)
		case c == '\\':
			if i+1 < len(line) {
				i++
				s.add(line[i])
			}
		case c == '>' || c == '<':
			i = s.redirection(i)
		case c == '&' || c == '|' || c == ';':
			i, err = s.operator(i)
		default:
			s.add(c)
		}
		if err != nil {
			return nil, err
		}
	}
	s.end()
	return s.words, nil
}

// splitter is Split's state: the words so far and the one being read.
type splitter struct {
	line   string
	words  []string
	cur    strings.Builder
	inWord bool
}

// add appends c to the current word.
func (s *splitter) add(c byte) {
	s.cur.WriteByte(c)
	s.inWord = true
}

// end closes the current word, if any.
func (s *splitter) end() {
	if s.inWord {
		s.words = append(s.words, s.cur.String())
		s.cur.Reset()
		s.inWord = false
	}
}

// singleQuoted reads the single-quoted text opening at i, verbatim, and
// returns the index of its closing quote.
func (s *splitter) singleQuoted(i int) (int, error) {
	j := strings.IndexByte(s.line[i+1:], '\'')
	if j < 0 {
		return 0, fmt.Errorf("unterminated ' in %q", s.line)
	}
	s.cur.WriteString(s.line[i+1 : i+1+j])
	s.inWord = true
	return i + j + 1, nil
}

// doubleQuoted reads the double-quoted text opening at i, where a
// backslash escapes only ", \, $ and `, and returns the index of its
// closing quote.
func (s *splitter) doubleQuoted(i int) (int, error) {
	s.inWord = true
	for i++; ; i++ {
		if i >= len(s.line) {
			return 0, fmt.Errorf("unterminated \" in %q", s.line)
		}
		if s.line[i] == '"' {
			return i, nil
		}
		if s.line[i] == '\\' && i+1 < len(s.line) && strings.IndexByte("\"\\$`", s.line[i+1]) >= 0 {
			i++
		}
		s.cur.WriteByte(s.line[i])
	}
}

// redirection skips the redirection at i (> file, 2>&1, <<EOF) and returns
// the index of its last byte: a redirection and its target are no words of
// the command, nor a file descriptor number before it (2>).
func (s *splitter) redirection(i int) int {
	if s.inWord && strings.Trim(s.cur.String(), "0123456789") == "" {
		s.cur.Reset()
		s.inWord = false
	}
	s.end()
	line := s.line
	for i+1 < len(line) && strings.IndexByte("<>&", line[i+1]) >= 0 {
		i++
	}
	for i+1 < len(line) && line[i+1] == ' ' {
		i++
	}
	for i+1 < len(line) && strings.IndexByte(" \t|&;", line[i+1]) < 0 {
		i++
	}
	return i
}

// operator reads the operator at i (&&, ||, |, ;) as a word of its own and
// returns the index of its last byte; a background & is refused.
func (s *splitter) operator(i int) (int, error) {
	s.end()
	c := s.line[i]
	op := string(c)
	if c != ';' && i+1 < len(s.line) && s.line[i+1] == c {
		op += string(c)
		i++
	}
	if op == "&" {
		return 0, fmt.Errorf("background & in %q", s.line)
	}
	s.words = append(s.words, op)
	return i, nil
}
