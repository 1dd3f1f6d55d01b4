package peertables

import (
	"fmt"
	"slices"
)

// Read is what a readable peer table must hold: the expectations of the
// tests, stated from what the scripts write, never read back from a peer.
type Read struct {
	Engine  string // "spark" or "deltars"
	Table   string
	Version int64  // latest version
	Files   int    // active files at the latest version (-1: not asserted)
	Columns string // column names in schema order, comma-separated
	// Rows at the latest version, each value rendered by delta.FormatValue,
	// joined by commas (NULL is empty).
	Rows []string
	// At holds the rows of earlier versions (time travel).
	At map[int64][]string
}

// seq renders format for every integer of [from, to].
func seq(from, to int, format string) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

const typesRowTail = ",,true,-7,-300,9007199254740993,1.5,1.234,-5.67800,string,6279746573,2022-10-24,2022-10-24T22:59:3"

var typesNested = `,{"struct_element":"struct_value"},{"map_key":"map_value"},["array_value"],` +
	`{"struct_element":{"nested_struct_element":"nested_struct_value"}},{"struct_element":[{"map_key":"map_value"}]}`

// cdfRows are the rows of the change-data-feed table after its first four
// versions (write, two UPDATEs, DELETE).
var cdfRows = []string{
	"1,Steve,2023-12-22", "2,Bob,2023-12-22", "3,Dave,2023-12-22", "4,Kate,2023-12-22",
	"5,Emily,2023-12-29", "6,Carl,2023-12-29", "8,Claire,2023-12-25", "9,Ada,2023-12-25", "10,Borb,2023-12-25",
}

// cmRows are the rows of the column-mapped tables cm_name and cm_id at
// their versions: columns renamed, one dropped and one of the same name
// added again (its old values must not come back).
var cmRows = map[int64][]string{
	0: nil,
	1: {"1,a,x,P1", "2,b,y,P 2"},
	2: {"1,a,x,P1", "2,b,y,P 2"},
	3: {"1,a,P1", "2,b,P 2"},
	4: {"1,a,P1", "2,b,P 2"}, // checkpoint
	5: {"1,a,P1", "2,b,P 2", "3,c,P1"},
	6: {"1,a,P1,", "2,b,P 2,", "3,c,P1,"},
}

// dvOps are the rows of the dv_ops table (id,grp,amount) at each version:
// the DELETE, UPDATE and MERGE of spark_tables.py write deletion vectors.
var dvOps = func() map[int64][]string {
	rows := map[int]string{}
	put := func(id int, amount int) {
		g := "a"
		if id%2 != 0 {
			g = "b"
		}
		rows[id] = fmt.Sprintf("%d,%s,%d", id, g, amount)
	}
	snap := func() []string {
		var out []string
		for _, r := range rows {
			out = append(out, r)
		}
		slices.Sort(out)
		return out
	}
	at := map[int64][]string{0: nil}
	for i := range 20 {
		put(i, i)
	}
	at[1] = snap()
	for _, i := range []int{0, 5, 10, 15} {
		delete(rows, i)
	}
	at[2] = snap()
	put(1, 10)
	put(2, 20)
	at[3] = snap()
	put(3, -3)
	put(100, 100)
	at[4] = snap()
	delete(rows, 7)
	at[5] = snap()
	put(200, 200)
	at[6] = snap()
	return at
}()

// DVBigKept reports whether dv_big keeps row id after its DELETE.
func DVBigKept(id int) bool { return id%3 != 0 && (id < 50000 || id > 70000) }

// Reads are the readable tables the peers write.
var Reads = []Read{
	{
		Engine: "spark", Table: "deletion_vectors", Version: 2, Files: 1, Columns: "value",
		Rows: seq(1, 8, "%d"), At: map[int64][]string{0: nil, 1: seq(0, 9, "%d")},
	},
	{
		Engine: "spark", Table: "v2_checkpoint", Version: 4, Files: 4, Columns: "id,name,created_at",
		Rows: seq(1, 4, "%[1]d,name %[1]d,2025-08-09T14:44:18.184471Z"),
		At:   map[int64][]string{0: nil, 2: seq(1, 2, "%[1]d,name %[1]d,2025-08-09T14:44:18.184471Z"), 3: seq(1, 3, "%[1]d,name %[1]d,2025-08-09T14:44:18.184471Z")},
	},
	{
		Engine: "spark", Table: "v2_checkpoint_parquet", Version: 4, Files: 4, Columns: "id,name",
		Rows: seq(1, 4, "%[1]d,name %[1]d"),
		At:   map[int64][]string{0: nil, 3: seq(1, 3, "%[1]d,name %[1]d")},
	},
	{
		Engine: "spark", Table: "type_widening", Version: 5, Files: 2, Columns: "s,i,f",
		Rows: []string{"1,1,1.5", "100000,10000000000,2.25"},
		At:   map[int64][]string{0: nil, 1: {"1,1,1.5"}, 4: {"1,1,1.5"}},
	},
	{
		Engine: "spark", Table: "dbx_features", Version: 3, Files: -1, Columns: "id,ts,s",
		Rows: []string{"1,2026-12-01T10:00:00.000000,one", "3,,three"},
		At: map[int64][]string{
			0: nil, 1: {"1,2026-12-01T10:00:00.000000,one", "2,2026-12-01T11:30:00.500000,two"},
			2: {"1,2026-12-01T10:00:00.000000,one", "2,2026-12-01T11:30:00.500000,two", "3,,three"},
		},
	},
	{
		Engine: "spark", Table: "dv_ops", Version: 6, Files: -1, Columns: "id,grp,amount",
		Rows: dvOps[6], At: dvOps,
	},
	{
		Engine: "spark", Table: "dv_purge", Version: 3, Files: 1, Columns: "id",
		Rows: seq(3, 9, "%d"), At: map[int64][]string{0: nil, 1: seq(0, 9, "%d"), 2: seq(3, 9, "%d")},
	},
	{
		Engine: "spark", Table: "dv_big", Version: 2, Files: 1, Columns: "id",
		Rows: func() []string {
			var out []string
			for i := range 100000 {
				if DVBigKept(i) {
					out = append(out, fmt.Sprint(i))
				}
			}
			return out
		}(),
	},
	{
		Engine: "spark", Table: "cm_name", Version: 7, Files: 4, Columns: "id,New Name,Part Col,gone",
		Rows: []string{"1,a,P1,", "2,b,P 2,", "3,c,P1,", "4,d,P3,new"}, At: cmRows,
	},
	{
		Engine: "spark", Table: "cm_id", Version: 7, Files: 4, Columns: "id,New Name,Part Col,gone",
		Rows: []string{"1,a,P1,", "2,b,P 2,", "3,c,P1,", "4,d,P3,new"}, At: cmRows,
	},
	{
		Engine: "spark", Table: "column_mapping", Version: 1, Files: -1, Columns: "Company Very Short,Super Name",
		Rows: []string{"BME,Timothy Lamb", "BMS,Anthony Johnson", "BMS,Nathan Bennett"},
	},
	{
		Engine: "spark", Table: "checkpoint", Version: 11, Files: 11, Columns: "version",
		Rows: append(seq(0, 9, "%d"), "0"),
		At: map[int64][]string{
			0: nil, 1: {"0"}, 5: seq(0, 4, "%d"), 9: seq(0, 8, "%d"), 10: seq(0, 9, "%d"),
		},
	},
	{
		Engine: "spark", Table: "multipart", Version: 7, Files: 7, Columns: "id,s",
		Rows: seq(1, 7, "%[1]d,row %[1]d"),
		At:   map[int64][]string{3: seq(1, 3, "%[1]d,row %[1]d"), 6: seq(1, 6, "%[1]d,row %[1]d")},
	},
	{
		Engine: "spark", Table: "cdf", Version: 6, Files: 9, Columns: "id,name,birthday",
		Rows: append(slices.Clone(cdfRows), "12,Ossama,2024-12-30", "13,Nick,2023-12-29", "14,Ryan,2023-12-22", "15,Zach,2023-12-25"),
		At: map[int64][]string{
			1: {"1,Steve,2023-12-22", "2,Bob,2023-12-23", "3,Dave,2023-12-23", "4,Kate,2023-12-23", "5,Emily,2023-12-24",
				"6,Carl,2023-12-24", "7,Dennis,2023-12-24", "8,Claire,2023-12-25", "9,Ada,2023-12-25", "10,Borb,2023-12-25"},
			2: {"1,Steve,2023-12-22", "2,Bob,2023-12-22", "3,Dave,2023-12-22", "4,Kate,2023-12-22", "5,Emily,2023-12-24",
				"6,Carl,2023-12-24", "7,Dennis,2023-12-24", "8,Claire,2023-12-25", "9,Ada,2023-12-25", "10,Borb,2023-12-25"},
			3: append(slices.Clone(cdfRows[:6]), "7,Dennis,2023-12-29", "8,Claire,2023-12-25", "9,Ada,2023-12-25", "10,Borb,2023-12-25"),
			4: cdfRows,
			5: append(slices.Clone(cdfRows), "11,Ossama,2024-12-30", "12,Nick,2023-12-29", "13,Ryan,2023-12-22", "14,Zach,2023-12-25"),
		},
	},
	{
		Engine: "spark", Table: "types", Version: 3, Files: 2,
		Columns: "integer,null,boolean,byte,short,long,float,double,decimal,string,binary,date,timestamp,struct,map,array,nested_struct,struct_of_array_of_map",
		Rows: []string{
			"0" + typesRowTail + "2.846706Z" + typesNested,
			"1" + typesRowTail + "4.067272Z" + typesNested,
		},
		At: map[int64][]string{0: nil, 1: nil, 2: {"0" + typesRowTail + "2.846706Z" + typesNested}},
	},
	{
		Engine: "spark", Table: "edge_timestamps", Version: 1, Files: 2, Columns: "BIG_DATE,NORMAL_DATE,SOME_VALUE",
		Rows: []string{
			"9999-12-30T00:00:00.000000Z,2022-02-01T00:00:00.000000Z,2",
			"9999-12-31T00:00:00.000000Z,2022-01-01T00:00:00.000000Z,1",
		},
	},
	{
		Engine: "spark", Table: "partitioned", Version: 1, Files: 6, Columns: "value,i,s,d,l,f,b",
		Rows: []string{
			"equals percent,4,k=v%20,2021-04-05,0,0.0,false",
			"nulls too,,,,,,",
			"nulls,,,,,,",
			"plain,1,a,2021-12-20,10,9.9,true",
			"slash,2,A/A,2020-02-03,9,10.0,false",
			"space,3,B B,2020-02-05,-1,-0.5,true",
			"umlaut,5,züri,2021-12-04,1,1.25,true",
		},
		At: map[int64][]string{0: nil},
	},
	{
		Engine: "deltars", Table: "history", Version: 4, Files: -1, Columns: "id",
		Rows: []string{"5", "7", "9"},
		At: map[int64][]string{
			0: seq(0, 4, "%d"), 1: seq(0, 19, "%d"), 2: seq(5, 9, "%d"), 3: {"106", "108", "5", "7", "9"},
		},
	},
	{
		Engine: "deltars", Table: "string_partitions", Version: 0, Files: 16, Columns: "id,value,year,is_active,event_date,category",
		Rows: func() []string {
			var out []string
			n := 0
			for _, year := range []string{"2020", "2021.0"} {
				for _, active := range []string{"true", "false"} {
					for _, day := range []string{"2023-01-01", "2023-01-02"} {
						for _, cat := range []string{"A", "B"} {
							n++
							out = append(out, fmt.Sprintf("%d,record_%d,%s,%s,%s,%s", n, n, year, active, day, cat))
						}
					}
				}
			}
			return out
		}(),
	},
	{
		Engine: "deltars", Table: "numeric_partitions", Version: 0, Files: 2, Columns: "x,y,z",
		Rows: []string{"10,10.0,b", "9,9.9,a"},
	},
	{
		Engine: "deltars", Table: "two_checkpoints", Version: 3, Files: 4, Columns: "id,price,sold,deleted",
		Rows: Fives(4),
		At:   map[int64][]string{0: Fives(1), 1: Fives(2), 2: Fives(3)},
	},
	{
		Engine: "deltars", Table: "checkpoint_then_more", Version: 3, Files: 1, Columns: "letter,int,date",
		Rows: []string{"a,30,1973-07-01", "b,31,1973-07-02", "c,32,1973-07-03", "d,33,1973-07-04", "e,34,1973-07-05"},
		At: map[int64][]string{
			0: nil,
			2: {"a,20,1972-07-01", "b,21,1972-07-02", "c,22,1972-07-03", "d,23,1972-07-04", "e,24,1972-07-05"},
		},
	},
}

// Fives is n copies of the five rows two_checkpoints appends each time,
// sorted.
func Fives(n int) []string {
	var out []string
	for range n {
		for i := range 5 {
			out = append(out, fmt.Sprintf("%d,%d,%d,false", i+1, i, i))
		}
	}
	slices.Sort(out)
	return out
}
