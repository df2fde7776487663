# varprop chart 'overview' of experiment 'a', drawn from runs.csv (tidy copy: overview.dat)
# Redraw by hand: cd into this folder, then: gnuplot overview.gp
set encoding utf8
set linetype 1 lc rgb '#0072B2' lw 2 pt 7 ps 1.1 dt solid
set terminal pngcairo size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'
set output 'overview.png'
reset
set datafile missing '?'
set multiplot title 'a: last-to-first-layer variance ratio per variant'."\n".'width 256 · depth 20 · batch 256 · 1 seed · float32' font ',13' noenhanced
set lmargin at screen 0.1000; set rmargin at screen 0.8000; set bmargin at screen 0.5135; set tmargin at screen 0.8600
set title 'activations'
set logscale y; set format y '10^{%L}'; set ylabel 'Var[z^{L}] / Var[z^{1}]'
set yrange [0.0316228:3.16228]; set xrange [0.4:1.6]
set grid ytics lt 1 lc rgb '#e0e0e0' lw 1
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#555555' dt 3
unset key; unset label
set xtics 1, 1, 1 scale 0.5; set format x ''; unset xlabel
plot 'overview.dat' index 1 using 1:2:3:4:5:6 with boxxyerror lc rgb '#4d9221' fs solid 0.35 border notitle, 'overview.dat' index 10 using 1:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1 notitle
unset arrow 1; unset label
set lmargin at screen 0.1000; set rmargin at screen 0.8000; set bmargin at screen 0.0870; set tmargin at screen 0.4535
set title 'back-propagated gradients'
set logscale y; set format y '10^{%L}'; set ylabel 'Var[∂L/∂z^{1}] / Var[∂L/∂z^{L}]'
set yrange [0.0316228:3.16228]; set xrange [0.4:1.6]
set grid ytics lt 1 lc rgb '#e0e0e0' lw 1
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#555555' dt 3
unset key; unset label
set xtics ('relu'."\n".'he_normal' 1) noenhanced scale 0.5 font ',9'
unset xlabel
plot 'overview.dat' index 6 using 1:2:3:4:5:6 with boxxyerror lc rgb '#4d9221' fs solid 0.35 border notitle, 'overview.dat' index 11 using 1:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1 notitle
unset arrow 1; unset label
set lmargin at screen 0.8200; set rmargin at screen 0.9900; set bmargin at screen 0.0870; set tmargin at screen 0.8600
unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; unset logscale; unset label; unset arrow; set xrange [0:1]; set yrange [0:1]
set key at screen 0.83, 0.85 left top vertical Left reverse samplen 2 spacing 1.5 title 'verdict' noenhanced
set label 1 'bar: median over seeds' at screen 0.835, 0.765 left font ',10'
set label 2 'whisker: min–max' at screen 0.835, 0.735 left font ',10'
set label 3 'dotted: ratio 1' at screen 0.835, 0.705 left font ',10'
plot NaN with boxes lc rgb '#4d9221' fs solid 0.35 border title 'stable'
unset multiplot
set terminal svg size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'
set output 'overview.svg'
reset
set datafile missing '?'
set multiplot title 'a: last-to-first-layer variance ratio per variant'."\n".'width 256 · depth 20 · batch 256 · 1 seed · float32' font ',13' noenhanced
set lmargin at screen 0.1000; set rmargin at screen 0.8000; set bmargin at screen 0.5135; set tmargin at screen 0.8600
set title 'activations'
set logscale y; set format y '10^{%L}'; set ylabel 'Var[z^{L}] / Var[z^{1}]'
set yrange [0.0316228:3.16228]; set xrange [0.4:1.6]
set grid ytics lt 1 lc rgb '#e0e0e0' lw 1
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#555555' dt 3
unset key; unset label
set xtics 1, 1, 1 scale 0.5; set format x ''; unset xlabel
plot 'overview.dat' index 1 using 1:2:3:4:5:6 with boxxyerror lc rgb '#4d9221' fs solid 0.35 border notitle, 'overview.dat' index 10 using 1:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1 notitle
unset arrow 1; unset label
set lmargin at screen 0.1000; set rmargin at screen 0.8000; set bmargin at screen 0.0870; set tmargin at screen 0.4535
set title 'back-propagated gradients'
set logscale y; set format y '10^{%L}'; set ylabel 'Var[∂L/∂z^{1}] / Var[∂L/∂z^{L}]'
set yrange [0.0316228:3.16228]; set xrange [0.4:1.6]
set grid ytics lt 1 lc rgb '#e0e0e0' lw 1
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#555555' dt 3
unset key; unset label
set xtics ('relu'."\n".'he_normal' 1) noenhanced scale 0.5 font ',9'
unset xlabel
plot 'overview.dat' index 6 using 1:2:3:4:5:6 with boxxyerror lc rgb '#4d9221' fs solid 0.35 border notitle, 'overview.dat' index 11 using 1:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1 notitle
unset arrow 1; unset label
set lmargin at screen 0.8200; set rmargin at screen 0.9900; set bmargin at screen 0.0870; set tmargin at screen 0.8600
unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; unset logscale; unset label; unset arrow; set xrange [0:1]; set yrange [0:1]
set key at screen 0.83, 0.85 left top vertical Left reverse samplen 2 spacing 1.5 title 'verdict' noenhanced
set label 1 'bar: median over seeds' at screen 0.835, 0.765 left font ',10'
set label 2 'whisker: min–max' at screen 0.835, 0.735 left font ',10'
set label 3 'dotted: ratio 1' at screen 0.835, 0.705 left font ',10'
plot NaN with boxes lc rgb '#4d9221' fs solid 0.35 border title 'stable'
unset multiplot
unset output
