# chart.gp: clustered bars of alexidx/btree ratios per metric (one colour per dataset).
# Called by pg_bench.py with: datafile, outfile, ncols, charttitle.
set terminal pngcairo size 1400,640 noenhanced font ",10"
set output outfile
set title charttitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.0625:16]
set ytics ("1/16" 0.0625, "1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set ylabel "alexidx / btree (log scale; 1 = same)"
set xtics rotate by -30 scale 0
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
plot for [i=2:ncols+1] datafile using i:xtic(1) title columnheader(i)
