package nbformat

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// ValidID reports whether id is a valid nbformat 4.5 cell id: 1 to 64 of
// the characters a-z, A-Z, 0-9, '-' and '_'.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// AssignIDs gives every cell a valid id unique within nb and returns how
// many ids it set. Valid ids are kept; of cells sharing one, the first keeps
// it (as nbformat's repair of duplicate ids does). Cells without an id, with
// an invalid one or with a duplicate get an 8-hex-digit id derived from
// their index, type and source, so the same notebook gets the same ids on
// every run; on a collision the hash is retried with a counter.
func (nb *Notebook) AssignIDs() int {
	taken := map[string]bool{}
	var missing []int
	for i, c := range nb.Cells {
		if ValidID(c.ID) && !taken[c.ID] {
			taken[c.ID] = true
			continue
		}
		missing = append(missing, i)
	}
	for _, i := range missing {
		c := nb.Cells[i]
		for n := 0; ; n++ {
			h := sha256.New()
			h.Write([]byte(strconv.Itoa(i) + "\x00" + c.CellType + "\x00" + c.Source.Text))
			if n > 0 {
				h.Write([]byte("\x00" + strconv.Itoa(n)))
			}
			id := hex.EncodeToString(h.Sum(nil))[:8]
			if !taken[id] {
				c.ID, taken[id] = id, true
				break
			}
		}
	}
	return len(missing)
}
