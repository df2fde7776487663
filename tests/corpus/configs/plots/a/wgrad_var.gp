# varprop chart 'wgrad_var' of experiment 'a', drawn from layers.csv (tidy copy: wgrad_var.dat)
# Redraw by hand: cd into this folder, then: gnuplot wgrad_var.gp
set encoding utf8
set linetype 1 lc rgb '#0072B2' lw 2 pt 7 ps 1.1 dt solid
set terminal pngcairo size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'
set output 'wgrad_var.png'
reset
set datafile missing '?'
set multiplot title 'a: weight-gradient variance Var[∂L/∂Wˡ] by layer'."\n".'width 256 · depth 20 · batch 256 · 1 seed · float32' font ',13' noenhanced
set lmargin at screen 0.0850; set rmargin at screen 0.9700; set bmargin at screen 0.1370; set tmargin at screen 0.8550
set title 'relu' noenhanced
unset key; set logscale y; set format y '10^{%L}'; set mytics 10
set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1
set xlabel 'layer {/:Italic l}'
set ylabel 'Var[∂L/∂W^{/:Italic l}]'
set xrange [1:20]; set xtics 5
set offsets 0, 0, graph 0.04, graph 0.04
set autoscale y
plot 'wgrad_var.dat' index 0 using 1:2 with linespoints lt 1 pi 2 notitle
set lmargin at screen 0.0100; set rmargin at screen 0.9900; set bmargin at screen 0.0050; set tmargin at screen 0.0520
unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; unset logscale; unset label; unset arrow; unset colorbox
set xrange [0:1]; set yrange [0:1]
set key at screen 0.5, 0.0290 center center horizontal maxcols 4 Left reverse samplen 3 spacing 1.3 width 2 noenhanced nobox
plot NaN with linespoints lt 1 title 'he_normal'
unset multiplot
set terminal svg size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'
set output 'wgrad_var.svg'
reset
set datafile missing '?'
set multiplot title 'a: weight-gradient variance Var[∂L/∂Wˡ] by layer'."\n".'width 256 · depth 20 · batch 256 · 1 seed · float32' font ',13' noenhanced
set lmargin at screen 0.0850; set rmargin at screen 0.9700; set bmargin at screen 0.1370; set tmargin at screen 0.8550
set title 'relu' noenhanced
unset key; set logscale y; set format y '10^{%L}'; set mytics 10
set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1
set xlabel 'layer {/:Italic l}'
set ylabel 'Var[∂L/∂W^{/:Italic l}]'
set xrange [1:20]; set xtics 5
set offsets 0, 0, graph 0.04, graph 0.04
set autoscale y
plot 'wgrad_var.dat' index 0 using 1:2 with linespoints lt 1 pi 2 notitle
set lmargin at screen 0.0100; set rmargin at screen 0.9900; set bmargin at screen 0.0050; set tmargin at screen 0.0520
unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; unset logscale; unset label; unset arrow; unset colorbox
set xrange [0:1]; set yrange [0:1]
set key at screen 0.5, 0.0290 center center horizontal maxcols 4 Left reverse samplen 3 spacing 1.3 width 2 noenhanced nobox
plot NaN with linespoints lt 1 title 'he_normal'
unset multiplot
unset output
